"""Process and device facts: out-of-memory errors in all their spellings, native bf16 only, one GPU per run."""

from __future__ import annotations

import pytest
import torch

from bench.host import is_out_of_memory, last_line, mixed_precision, pin_one_gpu


@pytest.mark.parametrize(
    "err",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        MemoryError(),
        RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
        RuntimeError("cuDNN error: CUDNN_STATUS_NOT_ENOUGH_WORKSPACE"),
        RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported"),
    ],
)
def test_allocation_failures_count_as_out_of_memory(err):
    assert is_out_of_memory(err)


@pytest.mark.parametrize("err", [RuntimeError("mat1 and mat2 shapes cannot be multiplied"), ValueError("memory")])
def test_other_errors_do_not(err):
    assert not is_out_of_memory(err)


def test_last_line_keeps_the_type_and_the_last_line():
    assert last_line(RuntimeError("first\n\nCUDA error: out of memory\n")) == "RuntimeError: CUDA error: out of memory"


def test_auto_precision_takes_native_bf16_only(monkeypatch):
    asked = {}

    def bf16_supported(including_emulation: bool = True) -> bool:
        asked["including_emulation"] = including_emulation
        return including_emulation  # a V100/T4: bf16 only by emulation

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", bf16_supported)
    assert mixed_precision("auto") == "fp16" and asked == {"including_emulation": False}
    assert mixed_precision("bf16") == "bf16" and mixed_precision("no") == "no"


def test_no_mixed_precision_on_a_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert mixed_precision("auto") == mixed_precision("bf16") == "no"


@pytest.mark.parametrize(
    ("visible", "pinned"), [(None, "0"), ("2,3", "2"), (" 1 , 0", "1"), ("GPU-abc,GPU-def", "GPU-abc")]
)
def test_a_run_sees_one_gpu(monkeypatch, visible, pinned):
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert pin_one_gpu() == pinned
    import os

    assert os.environ["CUDA_VISIBLE_DEVICES"] == pinned
