"""Science: geography (:mod:`expedition.science.geo`) and hazard models (:mod:`expedition.science.hazard`)."""
