"""Local files as request bodies and response bodies as local files: tar archives written from
and extracted to disk (`tarball`), build contexts with the docker CLI's ``.dockerignore`` rules
(`dockerignore`), and the descriptions call builders hand to the client (`local`).

This is the filesystem layer: call builders in `engineapi.api` only describe what to read
(`local.TarOfPath`, `local.BuildContextDir`); the client opens it when it sends the call.
Not imported by ``import engineapi``.
"""
