"""One container on this host: the ContainerSpec / Runtime API and its Linux implementation."""
