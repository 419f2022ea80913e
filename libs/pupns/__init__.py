"""PUPNS shared library: event store, messaging, auth, config and the error envelope."""
import sys

# kombu asks `import librabbitmq` on every Connection() it builds, and nameko builds one per publish (every
# RPC request, reply and event). The module is never installed, and a failed import is not cached: each
# one searches the whole sys.path (~120 us here). A None entry makes the same import fail at once.
sys.modules.setdefault("librabbitmq", None)
