import os

# jsii warns that this Node release is end-of-life each time it starts; in test output that is noise
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
