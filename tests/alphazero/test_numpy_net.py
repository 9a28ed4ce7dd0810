"""The numpy network against torch's, and the torch-free checkpoint reader."""

import dataclasses
import pickle
import random
import struct
import zipfile

import numpy as np
import pytest
import torch

from alphazero.config import load_config
from games import GAME_NAMES, get_game
from nets import numpy_net
from nets.checkpoint import (
    CheckpointError,
    UnsupportedCheckpointError,
    load_checkpoint,
    read_checkpoint_arrays,
    save_checkpoint,
)
from nets.loader import SHIPPED_DIR
from nets.numpy_net import NumpyPolicyValueNet, load_numpy_model, make_numpy_evaluate_fn
from nets.torch_net import ILLEGAL_LOGIT, PolicyValueNet, load_model, make_evaluate_fn
from search import BatchedMCTS

GAMES = list(GAME_NAMES)


def random_net(game_name: str, seed: int = 0) -> PolicyValueNet:
    """The game's configured network with random weights and non-trivial BN statistics."""
    torch.manual_seed(seed)
    game = get_game(game_name)
    net = PolicyValueNet(load_config(game_name).network, game.observation_shape,
                         game.num_actions)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return net.eval()


def numpy_copy(net: PolicyValueNet) -> NumpyPolicyValueNet:
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    return NumpyPolicyValueNet(net.config, net.observation_shape, net.num_actions, state)


def random_inputs(shape, num_actions, batch, seed=0):
    rng = np.random.default_rng(seed)
    observations = (rng.random((batch, *shape)) < 0.3).astype(np.float32)
    masks = rng.random((batch, num_actions)) < 0.5
    masks[:, 0] = True
    return observations, masks


def assert_same_outputs(numpy_eval, torch_eval, observations, masks):
    logits, values = numpy_eval(observations, masks)
    expected_logits, expected_values = torch_eval(observations, masks)
    assert logits.dtype == np.float32 and values.dtype == np.float32
    assert logits.shape == expected_logits.shape and values.shape == expected_values.shape
    np.testing.assert_allclose(logits[masks], expected_logits[masks], rtol=1e-4, atol=1e-4)
    assert np.all(logits[~masks] == ILLEGAL_LOGIT)
    np.testing.assert_allclose(values, expected_values, rtol=1e-4, atol=1e-5)


def test_illegal_logit_is_torch_s():
    assert numpy_net.ILLEGAL_LOGIT == ILLEGAL_LOGIT


@pytest.mark.parametrize("game_name", GAMES)
@pytest.mark.parametrize("batch", [1, 5, 40])  # 40 positions span several chunks
def test_random_network_matches_torch(game_name, batch):
    net = random_net(game_name, seed=batch)
    observations, masks = random_inputs(net.observation_shape, net.num_actions, batch, batch)
    assert_same_outputs(make_numpy_evaluate_fn(numpy_copy(net)),
                        make_evaluate_fn(net, use_jit=False), observations, masks)


@pytest.mark.parametrize("game_name", GAMES)
def test_shipped_checkpoint_matches_torch(game_name):
    path = SHIPPED_DIR / f"{game_name}.pt"
    net, checkpoint = load_numpy_model(path, expected_game=game_name)
    model, _ = load_model(path, expected_game=game_name)
    assert checkpoint["game"] == game_name and net.config == model.config
    observations, masks = random_inputs(net.observation_shape, net.num_actions, 16, seed=3)
    assert_same_outputs(make_numpy_evaluate_fn(net), make_evaluate_fn(model), observations,
                        masks)


def test_search_cannot_tell_the_difference():
    game = get_game("connect4")
    path = SHIPPED_DIR / "connect4.pt"
    evaluates = [make_numpy_evaluate_fn(load_numpy_model(path)[0]),
                 make_evaluate_fn(load_model(path)[0], use_jit=False)]
    params = dataclasses.replace(load_config("connect4").search, simulations=64,
                                 leaves_per_step=8)
    results = []
    for evaluate in evaluates:
        mcts = BatchedMCTS(game, evaluate, params, batch_size=2, seed=0)
        mcts.set_roots([game.parse_position("4453"), game.parse_position("44")])
        results.append(mcts.run())
    np.testing.assert_array_equal(results[0].visits, results[1].visits)
    np.testing.assert_array_equal(results[0].action, results[1].action)
    np.testing.assert_allclose(results[0].value, results[1].value, atol=1e-4)


def test_evaluate_checks_shapes():
    net = numpy_copy(random_net("tictactoe"))
    evaluate = make_numpy_evaluate_fn(net)
    with pytest.raises(ValueError, match="observations must have shape"):
        evaluate(np.zeros((2, 3, 3), np.float32), np.ones((2, 9), bool))
    with pytest.raises(ValueError, match="legal_masks must have shape"):
        evaluate(np.zeros((2, 3, 3, 3), np.float32), np.ones((2, 7), bool))


def test_weights_that_do_not_fit_are_named():
    net = random_net("tictactoe")
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    wider = dataclasses.replace(net.config, channels=net.config.channels * 2)
    with pytest.raises(ValueError, match="stem.0.weight"):
        NumpyPolicyValueNet(wider, net.observation_shape, net.num_actions, state)
    fewer = dataclasses.replace(net.config, blocks=net.config.blocks - 1)
    with pytest.raises(ValueError, match="unexpected weights"):
        NumpyPolicyValueNet(fewer, net.observation_shape, net.num_actions, state)


# ------------------------------------------------------------------------- the reader
def save(path, net: PolicyValueNet, game: str = "tictactoe", network=None, **extra) -> None:
    save_checkpoint(path, model_state=net.state_dict(),
                    network_config=network or dataclasses.asdict(net.config), game=game,
                    observation_shape=net.observation_shape, num_actions=net.num_actions,
                    extra=extra or None)


def assert_same_values(ours, torch_s):
    """A value read without torch equals torch.load's, with numpy arrays for tensors."""
    if isinstance(torch_s, torch.Tensor):
        assert isinstance(ours, np.ndarray) and ours.dtype == torch_s.numpy().dtype
        np.testing.assert_array_equal(ours, torch_s.numpy())
    elif isinstance(torch_s, dict):
        assert isinstance(ours, dict) and list(ours) == list(torch_s)
        for key in torch_s:
            assert_same_values(ours[key], torch_s[key])
    elif isinstance(torch_s, (list, tuple)):
        assert type(ours) is type(torch_s) and len(ours) == len(torch_s)
        for a, b in zip(ours, torch_s):
            assert_same_values(a, b)
    else:
        assert ours == torch_s


def test_reader_gives_what_torch_load_gives(tmp_path):
    net = random_net("tictactoe")
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net.train()
    loss = sum(out.sum() for out in net(torch.rand(4, *net.observation_shape)))
    loss.backward()
    optimizer.step()
    base = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    extra = {
        "step": 7, "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.default_rng(1).bit_generator.state,
        "python_rng": random.getstate(), "note": None, "blob": b"\x00\xffbytes",
        "set": {1, 2}, "complex": 1 + 2j,
        # views: a transpose, an offset slice and a scalar, sharing one storage
        "views": [base.t(), base[1:, 2:4], base[2, 3], torch.tensor([], dtype=torch.int32)],
        "other_dtypes": [torch.arange(5, dtype=torch.int64), torch.tensor([True, False]),
                         torch.arange(3, dtype=torch.float16)],
    }
    path = tmp_path / "full.pt"
    save(path, net, **extra)
    assert_same_values(read_checkpoint_arrays(path), load_checkpoint(path))


def test_reader_refuses_other_globals_without_calling_them(tmp_path):
    class Trap:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "trap.pt"
    torch.save({"format_version": 1, "trap": Trap()}, path)
    with pytest.raises(UnsupportedCheckpointError, match="print"):
        read_checkpoint_arrays(path)
    with pytest.raises(CheckpointError):  # and torch's weights_only refuses it too
        load_checkpoint(path)


def test_reader_leaves_the_legacy_format_to_torch(tmp_path):
    net = random_net("tictactoe")
    path = tmp_path / "legacy.pt"
    torch.save({"model": net.state_dict()}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(UnsupportedCheckpointError, match="legacy"):
        read_checkpoint_arrays(path)


@pytest.mark.parametrize("damage", ["empty", "head", "half", "no_end", "flipped_byte",
                                    "garbage"])
def test_damaged_file_is_a_clear_error(tmp_path, damage):
    path = tmp_path / "ckpt.pt"
    save(path, random_net("tictactoe"))
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        storage = archive.getinfo("archive/data/0")  # the stem's weights
    local = storage.header_offset  # a local header is 30 bytes, then the name and extra field
    name_length, extra_length = struct.unpack("<HH", data[local + 26:local + 30])
    data_start = local + 30 + name_length + extra_length
    damaged = {
        "empty": b"",
        "head": data[:100],
        "half": data[: len(data) // 2],
        "no_end": data[:-10],
        "flipped_byte": data[:data_start + 8] + bytes([data[data_start + 8] ^ 0xFF])
        + data[data_start + 9:],
        "garbage": b"this is not a checkpoint at all",
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        read_checkpoint_arrays(path)
    assert not isinstance(info.value, UnsupportedCheckpointError)
    assert str(path) in str(info.value)


def test_missing_file_wrong_game_and_bad_config(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint_arrays(tmp_path / "missing.pt")
    net = random_net("tictactoe")
    path = tmp_path / "ckpt.pt"
    save(path, net)
    with pytest.raises(CheckpointError, match="is for tictactoe, not connect4"):
        load_numpy_model(path, expected_game="connect4")
    bigger = dataclasses.asdict(dataclasses.replace(net.config, blocks=net.config.blocks + 1))
    save(path, net, network=bigger)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_numpy_model(path)
    save(path, net, network={"blocks": 1, "depth": 3})
    with pytest.raises(CheckpointError, match="bad network config"):
        load_numpy_model(path)


def test_not_a_checkpoint_dict(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="not a checkpoint dict"):
        read_checkpoint_arrays(path)
    torch.save({"format_version": 99}, path)
    with pytest.raises(CheckpointError, match="format_version 99"):
        read_checkpoint_arrays(path)


def test_pickle_protocol_is_what_the_reader_expects(tmp_path):
    """torch.save's default pickle protocol 2 stores bytes via _codecs.encode (allowed)."""
    path = tmp_path / "p.pt"
    torch.save({"b": b"\x01\x02"}, path)
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith("data.pkl")]
        assert archive.read(names[0])[:2] == pickle.PROTO + bytes([2])
