"""The builder: recipes (``images:`` entries, Dockerfiles) → images in the store.

Words used here:

- *step*: one instruction of the recipe IR (``stackfile.spec.recipe``). *Metadata steps* (ENV,
  WORKDIR's config part, USER, CMD, ENTRYPOINT, EXPOSE, LABEL, HEALTHCHECK, STOPSIGNAL, VOLUME,
  SHELL, ARG) change the image config only. *Layer steps* (RUN, COPY/ADD, WORKDIR when the
  directory is missing) may add a layer.
- *key*: sha256 over the canonical step (its source location left out), the parent key and the
  digests of the step's inputs (context files through the stat cache, a ``COPY --from`` stage's
  key or image id). A stage's first parent is its base image's id (or the base stage's key).
- *build cache*: key → the layers that step produced (``cachedb``). A hit needs the layers to
  still exist; an empty RUN is cached as "no layer".
- *fast path*: a Dockerfile build's plan remembered; a later identical request recomputes every
  key from it (same key function, context hashing and stat cache) and answers without parsing
  when every step would hit and the tags already name the image (``fastpath``).

Lifecycle of ``Builder.build``: plan (``plan``: every key, before anything runs) → run each stage
(``stages``: for each layer step, a cache hit, or execute and record) → store the image (config
blob, layer chain, tags) → emit ``ImageBuilt``. RUN goes to an ``Executor`` (``run``: a runtime
container whose overlay upper dir becomes the layer by rename); COPY/ADD write a fresh layer
directory in ``tmp/`` that is renamed into ``layers/`` once complete (``copy``).
"""
