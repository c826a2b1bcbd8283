# syntax=docker/dockerfile:1
# nasnet-ts service image. Targets:
#   runtime (default)  node 20 bookworm-slim, wasm engine, non-root, tini as PID 1
#   gpu                CUDA 11.2 + cuDNN 8 base with @tensorflow/tfjs-node-gpu (needs internet at build time)
#
#   docker build -t nasnet-ts .
#   docker run --rm -p 3000:3000 -v "$PWD/models:/models:ro" nasnet-ts
#   docker build --target gpu -t nasnet-ts:gpu .
#   docker run --rm --gpus all -p 3000:3000 -v "$PWD/models:/models:ro" nasnet-ts:gpu
# Weights named in the config with a relative path are read from /models (NASNET_MODELS_DIR); the
# embedded default models are in the image. See docs/serving.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript with the dev dependencies -------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
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
COPY eval ./eval
COPY src ./src
RUN npx tsc -p tsconfig.json

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
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY data ./data
COPY models/default ./models/default
RUN mkdir -p /models && chown node:node /models
USER node
EXPOSE 3000
VOLUME ["/models"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/cli/nasnet.js", "serve"]

# ---- gpu: tfjs-node-gpu 4.22 needs CUDA 11.2 + cuDNN 8.1 and downloads libtensorflow 2.9.1 at install --
FROM ${NODE_IMAGE} AS node
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS gpu
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
    NASNET_BACKEND=tensorflow \
    NASNET_MODELS_DIR=/models \
    NASNET_WORKERS=1 \
    TF_FORCE_GPU_ALLOW_GROWTH=true
COPY --from=runtime /app ./
# The one dependency whose install script runs: it fetches libtensorflow (GPU) from storage.googleapis.com.
RUN npm install --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0 && npm cache clean --force
RUN mkdir -p /models && chown node:node /models
USER node
EXPOSE 3000
VOLUME ["/models"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/cli/nasnet.js", "serve"]
