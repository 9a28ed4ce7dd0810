import pytest

from alphazero.config import Config, ConfigError, build, load_config


@pytest.mark.parametrize("game", ["tictactoe", "connect4", "chess"])
def test_shipped_configs_load(game):
    config = load_config(game)
    assert config.game == game
    assert config.search.simulations > 0


def test_unknown_key_is_named_with_suggestion():
    with pytest.raises(ConfigError,
                       match=r"'search.simulatons'.*did you mean 'search.simulations'"):
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


# ----------------------------------------------------------- defaults live in one place
def _defaults(command):
    """{dest: default} of one subcommand of the ``alphazero`` parser."""
    from alphazero.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return {a.dest: a.default for a in sub.choices[command]._actions}


def test_train_search_flags_take_their_defaults_from_the_dataclass():
    from alphazero.ablate.config import LearnedTraining
    from alphazero.config import TrainSearchConfig

    flags, cfg, ablate = _defaults("train-search"), TrainSearchConfig(), LearnedTraining()
    assert flags["iterations"] == cfg.iterations == ablate.iterations == 300
    assert flags["budgets"] == ",".join(map(str, cfg.budgets))
    assert cfg.budgets == ablate.budgets
    assert flags["positions"] == cfg.positions == ablate.positions
    assert flags["batch"] == cfg.positions_per_batch == ablate.batch
    assert flags["method"] == cfg.method == ablate.method
    assert flags["seed"] == cfg.seed == ablate.seed
    assert ablate.search_config() == cfg


def test_pretrain_flags_take_their_defaults_from_the_dataclass():
    from alphazero.config import PretrainOptions

    flags, options = _defaults("pretrain"), PretrainOptions()
    assert flags["holdout_every"] == options.holdout_every == 50
    assert (flags["steps"], flags["lr"], flags["checkpoint_every"], flags["buffer"],
            flags["minutes"], flags["seed"]) == (
        options.steps, options.lr, options.checkpoint_every, options.shuffle_buffer,
        options.max_minutes, options.seed)


def test_field_docs_give_the_help_text():
    from alphazero.config import TrainSearchConfig, field_docs

    docs = field_docs(TrainSearchConfig)
    assert docs["iterations"] == "Training iterations."
    assert docs["temperature"].startswith("Softening of the selection choice")
    assert "(default 300)" in _help("train-search", "--iterations")


def _help(command, flag):
    from alphazero.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return next(a.help for a in sub.choices[command]._actions if flag in a.option_strings)


@pytest.mark.parametrize("key, value", [
    ("network.channels", 0), ("network.blocks", -1), ("network.policy_channels", 0),
    ("network.value_channels", 0), ("network.value_hidden", 0), ("network.channels", 100_000),
])
def test_network_shapes_that_cannot_be_built_are_refused_by_key(key, value):
    with pytest.raises(ConfigError, match=rf"{key} must be an integer from"):
        load_config("tictactoe", [f"{key}={value}"])


def test_a_network_without_residual_blocks_is_allowed():
    assert load_config("tictactoe", ["network.blocks=0"]).network.blocks == 0


@pytest.mark.parametrize("key", ["train.lr", "search.c_init", "selfplay.resign_threshold",
                                 "train.minutes"])
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nan_and_infinity_are_refused_wherever_a_float_is_read(key, value):
    with pytest.raises(ConfigError, match=rf"'{key}' must be a finite number"):
        load_config("tictactoe", [f"{key}={value}"])


@pytest.mark.parametrize("override, message", [
    ("train.lr=0", "train.lr must be a finite number > 0"),
    ("train.lr=-0.1", "train.lr must be a finite number > 0"),
    ("train.weight_decay=-1", "train.weight_decay must be a finite number >= 0"),
    ("train.value_loss_weight=-1", "train.value_loss_weight must be"),
])
def test_training_numbers_out_of_range_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config("tictactoe", [override])


def test_tuples_of_floats_refuse_nan():
    from alphazero.config import TrainSearchConfig

    with pytest.raises(ConfigError, match="must be a finite number"):
        build(TrainSearchConfig, {"depth_weights": [0.5, float("nan")]})
