from tests.support.stack import api, stack  # noqa: F401  (fixtures)
