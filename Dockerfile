# syntax=docker/dockerfile:1
# nasnet-ts service image. Targets:
#   runtime (default)  node 20 bookworm-slim, wasm engine, non-root, tini as PID 1
#   gpu                CUDA 12 + cuDNN 9 base, onnxruntime-node's CUDA execution provider (needs nuget.org at build)
#
#   docker build -t nasnet-ts:0.1.0 .                  (the tag deploy/deployment.yaml runs)
#   docker build --build-arg NASNET_WEIGHTS="nasnet-mobile" -t nasnet-ts:0.1.0 .   # bakes in the ImageNet classifier
#   docker run --rm -p 3000:3000 -v "$PWD/models:/models:ro" nasnet-ts:0.1.0
#   docker build --target gpu -t nasnet-ts:0.1.0-gpu .
#   docker run --rm --gpus all -p 3000:3000 -v "$PWD/models:/models:ro" nasnet-ts:0.1.0-gpu
# Weights named in the config with a relative path are read from /models (NASNET_MODELS_DIR); the
# embedded default models are in the image. See docs/serving.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript with the dev dependencies -------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The workspace package pycocotools-js (eval/) must be there for npm ci to link it.
COPY eval ./eval
# --ignore-scripts: `prepare` would build before the sources are copied; no dependency needs its
# install script (sharp and onnxruntime-node ship prebuilt binaries in their npm packages).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY core ./core
COPY data ./data
COPY cells ./cells
COPY backbones ./backbones
COPY detection ./detection
COPY search ./search
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and the compiled output only ----------------------------------
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    NASNET_BACKEND=wasm \
    NASNET_MODELS_DIR=/models
COPY package.json package-lock.json .npmrc ./
COPY eval/package.json ./eval/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/eval/dist ./eval/dist
COPY data ./data
COPY models/default ./models/default
# Published weights baked into the image (network at build time only): a space-separated list of names
# from `nasnet weights list`, e.g. --build-arg NASNET_WEIGHTS="nasnet-mobile". Empty: the demo models.
ARG NASNET_WEIGHTS=""
ENV NASNET_HOME=/opt/nasnet-ts
RUN mkdir -p /models "$NASNET_HOME" \
 && if [ -n "$NASNET_WEIGHTS" ]; then node dist/src/cli/nasnet.js weights fetch $NASNET_WEIGHTS; fi \
 && chown -R node:node /models "$NASNET_HOME"
USER node
EXPOSE 3000
VOLUME ["/models"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/cli/nasnet.js", "serve"]

# ---- gpu: the networks on onnxruntime-node's CUDA execution provider ---------------------------------
# onnxruntime-node 1.30 ships its CUDA provider for CUDA 12.x with cuDNN 9.x only (its install script
# refuses CUDA 11; onnxruntime.ai, "CUDA Execution Provider", Requirements: a CUDA 12 build runs on any
# CUDA 12.x, and cuDNN 8 and 9 builds are not interchangeable). tfjs-node-gpu 4.22 needs CUDA 11.2 and
# cuDNN 8, which cannot share this image, and is not installed: the TensorFlow.js parts (image to tensor,
# RPN proposals, ROI align, NMS) run on the wasm engine, on the CPU.
FROM ${NODE_IMAGE} AS node
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 AS gpu
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home node
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    NASNET_BACKEND=wasm \
    NASNET_MODELS_DIR=/models \
    NASNET_WORKERS=1 \
    NASNET_ORT_PROVIDERS=cuda,cpu
COPY --from=runtime /app ./
# onnxruntime-node's own install script, asked for its CUDA 12 files (libonnxruntime_providers_cuda.so,
# _shared, _tensorrt from the NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0): the env variable
# overrides .npmrc's onnxruntime-node-install=skip, which keeps every other install offline-safe.
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so
ENV NASNET_HOME=/opt/nasnet-ts
COPY --from=runtime --chown=node:node /opt/nasnet-ts /opt/nasnet-ts
RUN mkdir -p /models && chown node:node /models
USER node
EXPOSE 3000
VOLUME ["/models"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/cli/nasnet.js", "serve"]
