"""Development tools for the smart meter decoder: encoders, a simulated meter, replay, bench.

Never shipped: Home Assistant installs only `custom_components/`. Everything here reads the wire
facts from the decoder (through `_decoder`), so the encoder cannot drift from what is decoded.
"""

from __future__ import annotations

from ._standalone import use_installed_decoder_if_needed

# Before any tool imports the decoder: outside the repository it is the installed smartmeter_dlms.
DECODER_PACKAGE = use_installed_decoder_if_needed()
