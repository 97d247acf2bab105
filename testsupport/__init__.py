"""Test support shared by the test suite (tests/) and the benchmarks (bench/): the fixture web with
fault injection, an SMTP sink, real search-engine nodes, outlet and corpus builders, the writer of
a test installation's config files, and helpers that run `chavder` as a user would.

Not shipped: the wheel packages only ``crawler*`` and ``scheduler*`` (pyproject). What the product
itself needs to serve sample outlets (``chavder demo``) is ``crawler.sampleweb``.
"""
