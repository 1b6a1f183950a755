"""The one Logger and Metrics of the invoke and stream functions (Powertools), shared by every module that logs
or counts, and the dimension sets each EMF document is published with."""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
# One EMF document per request, published by ModelId, by service alone (what the alarms and the dashboard read),
# and by KeyId for every key, root or managed (requests per key = the SampleCount of InputTokens by KeyId).
metrics = Metrics()
SERVICE = os.getenv("POWERTOOLS_SERVICE_NAME", "bedrock-gateway")
# /health and rejected requests publish no metric by design: Powertools would warn about each such flush.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def add_dimension_sets(key_id: str) -> None:
    """Also by service alone and by key: extra dimension sets of the same EMF document."""
    if metrics.metric_set:
        metrics.add_dimensions(service=SERVICE)
        metrics.add_dimensions(KeyId=key_id)
