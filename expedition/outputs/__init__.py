"""Outputs: reconstruction advice (:mod:`expedition.outputs.advice`) and briefs (:mod:`expedition.outputs.briefs`)."""
