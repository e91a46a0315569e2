"""The response: judge earthquakes against the trigger policy and open, update and log expeditions.

* :mod:`expedition.decisions.response.evaluate` - :func:`evaluate_events`, :func:`open_manually` (the entry points);
* :mod:`expedition.decisions.response.assess` - location, shaking, exposure, alert and forecast of an event;
* :mod:`expedition.decisions.response.sequences` - Gardner-Knopoff sequences and how an event changes an expedition;
* :mod:`expedition.decisions.response.decisions` - decisions in words and the rows that record them;
* :mod:`expedition.decisions.response.events` - reading pending events and preferred (moment) magnitudes.

Importing this package loads no data.
"""
