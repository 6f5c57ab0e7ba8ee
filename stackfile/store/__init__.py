"""On-disk state under the store root: metadata, blobs, layers, images, containers, volumes.

The image store's words (containerd's, simplified):

- *blob*: immutable bytes addressed by ``sha256:<hex>`` (``blobs``): written to ``ingest/``,
  fsynced, verified, renamed into ``blobs/sha256/``, made read-only. Image configs live here.
- *layer*: an immutable directory ``layers/<id>`` used as an overlay lower dir as is (``layers``).
  Made in ``tmp/``, published by one rename, then recorded; whiteouts are overlay-native (0/0
  character devices, ``trusted.overlay.opaque``). Imported layers are named by their diff id.
- *image*: an OCI image config (its digest is the image id) plus a chain of layers, bottom first,
  and any number of names ``repo:tag`` (``images``).
- *reference*: what keeps a layer alive for garbage collection (``gc``): an image, a container's
  ``config.json``, or the build cache.

Builds and imports hold the store lock shared; garbage collection holds it exclusively (``lock``).
Archives come in through ``transfer`` (safe extraction in ``archive``) and go out through ``export``.
"""
