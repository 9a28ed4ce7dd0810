import dataclasses
import random

import numpy as np
import pytest
import torch

from nets.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from nets.torch_net import NetworkConfig, PolicyValueNet, load_model, make_evaluate_fn

CONFIG = NetworkConfig(blocks=1, channels=8, value_hidden=8)
SHAPE, ACTIONS = (3, 6, 7), 7


def make_net(seed: int = 0) -> PolicyValueNet:
    torch.manual_seed(seed)
    net = PolicyValueNet(CONFIG, SHAPE, ACTIONS)
    with torch.no_grad():  # non-default BN statistics, so a lost buffer would show
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return net.eval()


def save(path, net: PolicyValueNet, game: str = "connect4", **extra) -> None:
    save_checkpoint(
        path,
        model_state=net.state_dict(),
        network_config=dataclasses.asdict(net.config),
        game=game,
        observation_shape=net.observation_shape,
        num_actions=net.num_actions,
        extra=extra or None,
    )


def test_round_trip_gives_same_outputs(tmp_path):
    net = make_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(7)
    extra = {
        "step": 123,
        "optimizer": optimizer.state_dict(),
        "config": {"game": "connect4", "lr": 1e-3, "milestones": [10, 20], "note": None},
        # RNG states in forms weights_only loading accepts (see alphazero/checkpoint.py):
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": rng.bit_generator.state,
        "python_rng": random.getstate(),
    }
    path = tmp_path / "ckpt.pt"
    save(path, net, **extra)

    loaded, checkpoint = load_model(path, expected_game="connect4")
    assert loaded.config == CONFIG and not loaded.training
    assert loaded.observation_shape == SHAPE and loaded.num_actions == ACTIONS
    assert checkpoint["format_version"] == FORMAT_VERSION and checkpoint["game"] == "connect4"
    assert checkpoint["step"] == 123 and checkpoint["config"] == extra["config"]
    assert torch.equal(checkpoint["torch_rng"], extra["torch_rng"])
    assert checkpoint["numpy_rng"] == extra["numpy_rng"]
    restored = np.random.default_rng()
    restored.bit_generator.state = checkpoint["numpy_rng"]
    assert restored.random() == rng.random()
    random.setstate(checkpoint["python_rng"])
    optimizer.load_state_dict(checkpoint["optimizer"])

    observations = np.random.default_rng(0).standard_normal((5, *SHAPE)).astype(np.float32)
    masks = np.ones((5, ACTIONS), bool)
    before = make_evaluate_fn(net, use_jit=False)(observations, masks)
    after = make_evaluate_fn(loaded, use_jit=False)(observations, masks)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])


def test_accepts_network_config_instance(tmp_path):
    net = make_net()
    path = tmp_path / "ckpt.pt"
    save_checkpoint(
        path, model_state=net.state_dict(), network_config=net.config, game="connect4",
        observation_shape=SHAPE, num_actions=ACTIONS,
    )
    assert load_checkpoint(path)["network"] == dataclasses.asdict(CONFIG)


def test_atomic_write_leaves_no_temp_file_and_replaces(tmp_path):
    path = tmp_path / "ckpt.pt"
    save(path, make_net(seed=0), step=1)
    save(path, make_net(seed=1), step=2)  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]
    assert load_checkpoint(path)["step"] == 2


def test_failed_save_keeps_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    save(path, make_net(), step=1)
    with pytest.raises(Exception):
        save(path, make_net(), step=2, unpicklable=lambda: None)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]
    assert load_checkpoint(path)["step"] == 1


def test_save_creates_directory(tmp_path):
    path = tmp_path / "run" / "checkpoints" / "ckpt.pt"
    save(path, make_net())
    assert load_checkpoint(path)["game"] == "connect4"


def test_extra_may_not_shadow_standard_keys(tmp_path):
    with pytest.raises(ValueError, match="clash"):
        save(tmp_path / "ckpt.pt", make_net(), game="connect4", model={})


def test_truncated_file_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    save(path, make_net(), step=5)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_model(path)


def test_empty_and_garbage_files_are_checkpoint_errors(tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint" * 50)
    for path in (empty, garbage):
        with pytest.raises(CheckpointError, match="corrupt") as info:
            load_checkpoint(path)
        assert "\n" not in str(info.value)


def test_missing_file_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "nope.pt"
    with pytest.raises(CheckpointError, match="checkpoint not found: .*nope.pt"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not found"):
        load_model(path)
    assert issubclass(CheckpointError, ValueError)


def test_game_mismatch_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    save(path, make_net(), game="connect4")
    with pytest.raises(CheckpointError, match="is for connect4, not chess"):
        load_model(path, expected_game="chess")


def test_wrong_format_version_and_missing_keys(tmp_path):
    path = tmp_path / "ckpt.pt"
    save(path, make_net())
    checkpoint = torch.load(path, weights_only=True)

    torch.save({**checkpoint, "format_version": 99}, path)
    with pytest.raises(CheckpointError, match="format_version 99; this code reads 1"):
        load_checkpoint(path)

    torch.save({k: v for k, v in checkpoint.items() if k != "model"}, path)
    with pytest.raises(CheckpointError, match=r"missing keys \['model'\]"):
        load_checkpoint(path)

    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="not a checkpoint dict"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_config(tmp_path):
    path = tmp_path / "ckpt.pt"
    net = make_net()
    save_checkpoint(
        path, model_state=net.state_dict(), network_config={**dataclasses.asdict(CONFIG),
        "channels": 16}, game="connect4", observation_shape=SHAPE, num_actions=ACTIONS,
    )
    with pytest.raises(CheckpointError, match="do not fit its network config"):
        load_model(path)


def test_objects_refused_by_weights_only_give_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    save(path, make_net(), numpy_rng=np.random.get_state())  # holds an ndarray: not allowed
    with pytest.raises(CheckpointError, match="weights_only") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
