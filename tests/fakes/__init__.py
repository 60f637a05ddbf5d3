"""In-memory stand-ins for the AWS adapters and repositories, for unit tests (no sockets, milliseconds).

Each fake keeps the behaviour the services rely on (conditional writes, optimistic versions, ETag
pinning, pagination cursors) and is checked against its real counterpart on moto in
tests/integration/test_fakes_contract.py.
"""
