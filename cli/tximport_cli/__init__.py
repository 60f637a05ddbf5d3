"""The `tximport` command line client and the local stack (tools for people; never deployed)."""
