"""``GET /api/v1/health``: up, with models loaded (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter

from facerec import __version__
from facerec.service.deps import Service
from facerec.service.schemas import HealthOut

__all__ = ["health", "router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, summary="Whether the service is up with its models loaded")
def health(service: Service) -> HealthOut:
    analyzer = service.analyzer  # 503 while the models load
    gallery = service.gallery
    return HealthOut(status="ok", version=__version__, people=gallery.count_people(), samples=gallery.count(),
                     models={"detector": analyzer.detector_name, "fallback_detector": analyzer.fallback_detector_name,
                             "embedder": analyzer.embedder_name, "landmarks": analyzer.landmark_points,
                             "model_id": service.model_id, "threads": service.config.threads,
                             "calibrated": service.calibration is not None})
