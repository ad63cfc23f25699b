"""Pure rules of lawful disconnection: no I/O, no clock (callers pass ``now``).

- :mod:`.rules` — service on / service off decides the request type; a disconnection's kind.
- :mod:`.profile` — jurisdiction profiles as data (every number a setting) and the presets.
- :mod:`.window` — the profile's lawful window: weekdays, hours, holidays and their eves; a
  :class:`~.window.HolidayCalendar` carries the holidays as data into a Temporal workflow.
- :mod:`.protections` — what blocks a non-payment cut, until when, and what would lift it.
- :mod:`.lawful` — the earliest lawful moment for a cut, and the check at the moment of the cut.
"""
