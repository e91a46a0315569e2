"""The partner HTTP service: read-only SQL, named queries, expeditions, briefs, surveys and an
FDSN event service over the lake, with per-partner scopes enforced in the data layer.

Entry points: :func:`expedition.delivery.api.app.create_app` (the FastAPI application) and
:func:`expedition.delivery.api.app.serve` (uvicorn on a host and port). Nothing is imported here so that
``import expedition`` stays cheap.
"""
