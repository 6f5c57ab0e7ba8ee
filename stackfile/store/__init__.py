"""On-disk state under the store root: metadata, blobs, layers, images, containers, volumes."""
