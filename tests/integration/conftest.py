from tests.support.stack import api, api_handler, stack  # noqa: F401  (fixtures)
