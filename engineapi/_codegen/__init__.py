"""Code generators that write committed Python modules; nothing here runs in the client.

The models/operations generator, ``python -m engineapi._codegen.models``, reads the Swagger 2.0
specs (v1.41 … newest) and writes:

- ``engineapi/models/``: typed attrs classes, open enums and the lazy package index;
- ``engineapi/api/_operations.py``: the table of every operation and its parameters.

Its pipeline is split by concern:

- :mod:`.specs`: find and load the spec files, follow ``$ref`` s, small text helpers;
- :mod:`.naming`: snake_case / PascalCase rules (acronyms, keywords, enum constants);
- :mod:`.schema`: the type-mapping pass, from Swagger schemas to an intermediate model;
- :mod:`.versions`: the version-facts pass (first and last version of each field);
- :mod:`.evidence`: which required keys are typed non-Optional, from the stored evidence that
  :mod:`.required_evidence` gathers (cassettes and a live sweep of the test engines);
- :mod:`.emit_models` and :mod:`.operations`: the emitters;
- :mod:`.models`: the command line (write, or ``--check`` byte for byte).
"""
