"""ONNX Runtime provider choice: CUDA first when the installed onnxruntime offers it, CPU otherwise; the provider
that really runs is what the backends and ``doctor`` report. No GPU is needed: the choice is tested by changing
the provider list ONNX Runtime advertises."""

from __future__ import annotations

import pytest

from facerec.errors import ConfigurationError


def test_auto_providers_put_cuda_first_when_onnxruntime_offers_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime as ort

    from facerec.models.onnx_build import resolve_providers

    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"])
    assert resolve_providers(None) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers(["cuda"]) == ["CUDAExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert resolve_providers(None) == ["CPUExecutionProvider"]
    with pytest.raises(ConfigurationError, match="onnxruntime-gpu"):
        resolve_providers(["cuda"])


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider' is not in available provider names")
def test_advertised_cuda_that_cannot_start_runs_on_cpu_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime-gpu on a machine without a usable GPU: automatic choice asks for CUDA, ONNX Runtime falls back
    to CPU, and the embedder reports the CPU provider (what ``doctor`` shows)."""
    import onnxruntime as ort

    real = ort.get_available_providers()
    if "CUDAExecutionProvider" in real:
        pytest.skip("a CUDA-enabled onnxruntime is installed: the fallback is not what runs here")
    from facerec.embedding.onnx_backend import OnnxEmbedder

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", *real])
    embedder = OnnxEmbedder(threads=1)
    assert embedder.provider == "CPUExecutionProvider"


def test_doctor_reports_the_provider_each_backend_runs_on() -> None:
    import onnxruntime as ort

    from facerec.doctor import doctor

    report = doctor()
    for backend in ("embedder:onnx", "detector:cnn"):
        assert report["backends"][backend]["provider"] in ort.get_available_providers()
    assert report["onnxruntime_providers"] == ort.get_available_providers()
