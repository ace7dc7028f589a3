"""The gateway image: our own, from a Debian base built by mmdebstrap and the lock's exact wheels.

The recipe is ``pipelines/image/`` (a Containerfile, its entrypoint and the base step); this
package fetches the wheels on the host, lays out the build context, drives podman, smoke-tests
what it built and pushes it to a registry. Nothing in a build touches the network.
"""
