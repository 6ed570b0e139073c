"""pytest configuration shared by the unit tests and nbval."""


def pytest_collectstart(collector):
    # torch writes stray warnings to stderr on some runs only; nbval should
    # compare what a cell returns and prints, not the library's log noise.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
