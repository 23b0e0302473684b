"""Development tools for the smart meter decoder: encoders, a simulated meter, replay, bench.

Never shipped: Home Assistant installs only `custom_components/`. Everything here reads the wire
facts from the decoder (through `_decoder`), so the encoder cannot drift from what is decoded.
"""
