import pytest

from alphazero.config import Config, ConfigError, build, load_config


@pytest.mark.parametrize("game", ["tictactoe", "connect4", "chess"])
def test_shipped_configs_load(game):
    config = load_config(game)
    assert config.game == game
    assert config.search.simulations > 0


def test_unknown_key_is_named_with_suggestion():
    with pytest.raises(ConfigError, match=r"'search.simulatons'.*did you mean 'search.simulations'"):
        build(Config, {"search": {"simulatons": 10}})
    with pytest.raises(ConfigError, match="unknown config key 'netwrk'"):
        build(Config, {"netwrk": {}})


def test_wrong_types_are_named():
    with pytest.raises(ConfigError, match="'network.blocks' must be int"):
        build(Config, {"network": {"blocks": "five"}})
    with pytest.raises(ConfigError, match="'search.reuse_tree' must be bool"):
        build(Config, {"search": {"reuse_tree": 3}})
    with pytest.raises(ConfigError, match="search.arm must be one of"):
        build(Config, {"search": {"arm": "alphabeta"}})


def test_overrides_and_int_to_float():
    config = load_config("connect4", ["search.c_init=2", "train.lr=0.1", "network.blocks=3"])
    assert config.search.c_init == 2.0 and isinstance(config.search.c_init, float)
    assert config.network.blocks == 3
    with pytest.raises(ConfigError, match="key=value"):
        load_config("connect4", ["search.c_init"])


def test_config_is_frozen():
    config = load_config("tictactoe")
    with pytest.raises(Exception):
        config.game = "chess"


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("game: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad))
