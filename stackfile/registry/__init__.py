"""The OCI distribution (registry v2) client: pull images into the store and push them out.

The words:

- *reference*: ``[domain/]path[:tag][@digest]`` normalised as Docker does (``reference``).
- *registry options*: where credentials and certificates are and which hosts may speak plain
  HTTP; the CLI reads them from the environment and passes them in (``options``).
- *credentials*: Docker's ``config.json`` (``auths``, ``credsStore``, ``credHelpers``), with the
  place they came from, so errors can say it (``credentials``).
- *session*: one registry host: TLS (``tls``), the ``/v2/`` ping, Basic or Bearer auth
  (``auth``), keep-alive connections per thread (``session``).
- *manifest*: Docker schema2 and OCI manifests and indexes; platform choice (``manifest``).
- *pull*: manifest → config → layers in parallel, each streamed into the blob store with its
  digest checked while it arrives, resumed with ``Range`` after a dropped connection, then
  extracted into a layer by the store (``pull``, ``blobs``).
- *push*: layers compressed once (remembered in the store), HEAD first, cross-repository mount,
  monolithic or chunked upload, then the manifest (``push``).
"""
