"""Run the service without AWS: moto in server mode, our Lambda handlers in-process."""
