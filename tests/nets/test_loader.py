"""nets.loader, the one loader: a checkpoint file, the shipped one, or a fresh network."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from alphazero.config import load_config
from games import get_game
from nets import loader
from nets.checkpoint import CheckpointError, save_checkpoint
from nets.loader import new_model, resolve_evaluate, resolve_learned, resolve_model
from nets.torch_net import PolicyValueNet, load_model
from nets.weights import numpy_weights
from search import SearchParams

TTT = get_game("tictactoe")
NETWORK = load_config("tictactoe").network


def states_and_masks(game, texts):
    states = [game.parse_position(t) for t in texts]
    return (np.stack([game.encode(s) for s in states]),
            np.stack([game.legal_mask(s) for s in states]))


def same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                   b.state_dict().values()))


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(11)
    model = PolicyValueNet(NETWORK, TTT.observation_shape, TTT.num_actions)
    path = tmp_path / "net.pt"
    save_checkpoint(path, model_state=model.state_dict(), network_config=NETWORK,
                    game="tictactoe", observation_shape=TTT.observation_shape,
                    num_actions=TTT.num_actions)
    return path, model.eval()


def test_a_checkpoint_file(saved):
    path, model = saved
    loaded, source = resolve_model(TTT, None, path)  # a file needs no network config
    assert source == f"using checkpoint {path}" and same_weights(loaded, model)
    assert not loaded.training


def test_the_shipped_checkpoint():
    shipped = loader.shipped_checkpoint("tictactoe")
    loaded, source = resolve_model(TTT, NETWORK)
    assert source == f"using the shipped tictactoe checkpoint {shipped}"
    assert same_weights(loaded, load_model(shipped)[0])


def test_a_fresh_network_is_seeded_like_torch(monkeypatch, tmp_path):
    torch.manual_seed(5)
    expected = PolicyValueNet(NETWORK, TTT.observation_shape, TTT.num_actions)
    fresh, source = resolve_model(TTT, NETWORK, fresh=True, seed=5)  # despite the shipped file
    assert same_weights(fresh, expected) and "freshly initialised" in source
    monkeypatch.setattr(loader, "SHIPPED_DIR", tmp_path)  # nothing shipped: fresh as well
    again, source = resolve_model(TTT, NETWORK, seed=5)
    assert same_weights(again, expected) and source.startswith("no checkpoint shipped")
    with pytest.raises(ValueError, match="NetworkConfig"):
        resolve_model(TTT, None)
    with pytest.raises(ValueError, match="not both"):
        resolve_model(TTT, NETWORK, "x.pt", fresh=True)


@pytest.mark.parametrize("source", ["file", "shipped", "fresh"])
def test_every_source_gives_the_same_evaluate_in_numpy_and_torch(saved, source):
    checkpoint = saved[0] if source == "file" else None
    kwargs = {"fresh": source == "fresh", "seed": 2}
    obs, masks = states_and_masks(TTT, ["", "5", "159"])
    numpy_eval, numpy_source = resolve_evaluate(TTT, NETWORK, checkpoint, backend="numpy",
                                                **kwargs)
    torch_eval, torch_source = resolve_evaluate(TTT, NETWORK, checkpoint, backend="torch",
                                                **kwargs)
    assert numpy_source.endswith("(numpy)") and torch_source.endswith("(torch)")
    model, _ = resolve_model(TTT, NETWORK, checkpoint, **kwargs)
    with torch.no_grad():
        logits, values = model(torch.from_numpy(obs))
    for ours, theirs in zip(torch_eval(obs, masks), numpy_eval(obs, masks)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(torch_eval(obs, masks)[1], values.numpy(), rtol=1e-4, atol=1e-5)


def test_a_missing_file_is_a_checkpoint_error(tmp_path):
    for backend in ("auto", "torch"):
        with pytest.raises(CheckpointError, match="not found"):
            resolve_evaluate(TTT, NETWORK, tmp_path / "none.pt", backend=backend)


def test_new_model_from_the_weights_that_cross_ray(saved):
    _, model = saved
    copy = new_model(NETWORK, TTT.observation_shape, TTT.num_actions,
                     weights=numpy_weights(model))
    assert same_weights(copy, model) and not copy.training


def test_learned_weights_are_looked_up_in_one_place(tmp_path):
    c4 = get_game("connect4")
    assert resolve_learned(c4, SearchParams(arm="puct")) is None
    assert loader.shipped_learned_weights("connect4").is_file()
    assert resolve_learned(c4, SearchParams(arm="learned")).selection.size > 0
    with pytest.raises(CheckpointError, match="no learned search weights for tictactoe"):
        resolve_learned(TTT, SearchParams(arm="learned",
                                          learned_weights=str(tmp_path / "none.pt")))


def test_shipped_learned_weights_refuse_another_network(tmp_path, caplog):
    import shutil

    c4 = get_game("connect4")
    params = SearchParams(arm="learned")
    copy = tmp_path / "same.pt"
    shutil.copy(loader.shipped_checkpoint("connect4"), copy)
    assert resolve_learned(c4, params, checkpoint=copy) is not None  # the shipped network
    assert resolve_learned(c4, params, checkpoint="shipped") is not None
    config = load_config("connect4").network
    other = tmp_path / "other.pt"
    save_checkpoint(other, model_state=PolicyValueNet(config, c4.observation_shape,
                                                      c4.num_actions).state_dict(),
                    network_config=config, game="connect4",
                    observation_shape=c4.observation_shape, num_actions=c4.num_actions)
    with pytest.raises(CheckpointError, match="trained for the shipped network, not .*other"):
        resolve_learned(c4, params, checkpoint=other)
    # Weights given by path that recorded their network: another one is said, not refused.
    from nets.search_weights import LearnedSearch

    mine = tmp_path / "mine_search.pt"
    LearnedSearch.fresh(0, game="connect4", network=str(copy),
                        network_sha256=loader.file_sha256(copy)).save(mine)
    mine_params = SearchParams(arm="learned", learned_weights=str(mine))
    with caplog.at_level("WARNING"):
        assert resolve_learned(c4, mine_params, checkpoint=copy) is not None
        assert "trained for another network" not in caplog.text
        assert resolve_learned(c4, mine_params, checkpoint=other) is not None
    assert "trained for another network" in caplog.text


def test_importing_nets_does_not_import_torch():
    code = ("import sys, nets.loader, nets.checkpoint, nets.numpy_net, nets.config, nets.files; "
            "print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=300)
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize("word", ["shipped", "connect4"])
def test_shipped_or_the_game_name_names_the_shipped_file_from_anywhere(word, tmp_path,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)  # no such file here: the word names the shipped checkpoint
    game = get_game("connect4")
    _, source = resolve_evaluate(game, checkpoint=word, backend="numpy")
    assert "the shipped connect4 checkpoint" in source


def test_a_file_called_like_the_game_wins(saved, monkeypatch):
    path, model = saved
    monkeypatch.chdir(path.parent)
    (path.parent / "tictactoe").write_bytes(path.read_bytes())
    loaded, source = resolve_model(TTT, checkpoint="tictactoe")
    assert source == "using checkpoint tictactoe"
    assert same_weights(loaded, model)


def test_shipped_for_a_game_without_one_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(loader, "SHIPPED_DIR", tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint is shipped for connect4"):
        resolve_model(get_game("connect4"), checkpoint="shipped")


@pytest.mark.parametrize("backend", ["auto", "onnx", "numpy", "torch"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_network_with_nan_weights_is_refused_by_every_backend(tmp_path, backend, bad):
    from nets.backends import onnx_available

    if backend == "onnx" and not onnx_available():
        pytest.skip("ONNX Runtime is not installed")
    torch.manual_seed(3)
    model = PolicyValueNet(NETWORK, TTT.observation_shape, TTT.num_actions)
    state = model.state_dict()
    name = next(k for k in state if k.endswith("weight"))
    state[name].view(-1)[0] = bad
    path = tmp_path / "diverged.pt"
    save_checkpoint(path, model_state=state, network_config=NETWORK, game="tictactoe",
                    observation_shape=TTT.observation_shape, num_actions=TTT.num_actions)
    with pytest.raises(CheckpointError, match=rf"holds NaN or infinite weights \(in {name}\)"):
        resolve_evaluate(TTT, checkpoint=path, backend=backend)
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        resolve_model(TTT, checkpoint=path)
