"""The torch-free checkpoint reader refuses hostile files before allocating for them."""

import tracemalloc
import zipfile

import pytest
import torch

from games import get_game
from nets.checkpoint import CheckpointError, read_checkpoint_arrays, save_checkpoint
from nets.config import NetworkConfig

TTT = get_game("tictactoe")


def write(path, tensor):
    save_checkpoint(path, model_state={"w": tensor}, network_config=NetworkConfig(),
                    game="tictactoe", observation_shape=TTT.observation_shape,
                    num_actions=TTT.num_actions)
    return path


def test_a_plain_tensor_reads_back(tmp_path):
    tensor = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()  # strided, not contiguous
    arrays = read_checkpoint_arrays(write(tmp_path / "ok.pt", tensor))["model"]
    assert arrays["w"].tolist() == tensor.tolist()


@pytest.mark.parametrize("shape", [(10**15,), (10**5, 10**5, 10**5), (3, 10**7)])
def test_stride_zero_with_a_huge_shape_is_refused_without_allocating(tmp_path, shape):
    # One float of storage, viewed (stride 0) as a tensor of `shape`: a small file that would
    # make a naive reader allocate a copy of every element.
    hostile = torch.zeros(1).expand(*shape)
    path = write(tmp_path / "hostile.pt", hostile)
    assert path.stat().st_size < 10_000
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="elements, more than its storage of 1"):
            read_checkpoint_arrays(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000


def test_overlapping_strides_are_refused(tmp_path):
    storage = torch.zeros(1000)
    hostile = storage.as_strided((1000, 1000), (0, 1))  # a million entries over 1000 floats
    with pytest.raises(CheckpointError, match="more than its storage of 1000"):
        read_checkpoint_arrays(write(tmp_path / "overlap.pt", hostile))


def test_a_storage_record_that_unpacks_a_thousandfold_is_refused(tmp_path):
    plain = write(tmp_path / "plain.pt", torch.zeros(2_500_000))  # 10 MB of zeros
    packed = tmp_path / "packed.pt"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(packed, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
    assert packed.stat().st_size < 200_000
    with pytest.raises(CheckpointError, match="claims 10000000 bytes from"):
        read_checkpoint_arrays(packed)
