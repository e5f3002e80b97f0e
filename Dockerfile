# syntax=docker/dockerfile:1
# Build stage: full dependency tree, viewer bundle.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY tools/api-types/package.json ./tools/api-types/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build --if-present

# Runtime stage: production dependencies only, non-root; the marking's font (fonts-dejavu-core) and
# the renditions' sRGB OutputIntent profile (icc-profiles-free) are read at run time (PDF/A-2b); for the
# text layer poppler-utils (pdftoppm) renders the pages and tesseract (German and English data) reads them.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core icc-profiles-free tini \
    poppler-utils tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
COPY package.json package-lock.json ./
COPY tools/api-types/package.json ./tools/api-types/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/contract ./contract
COPY --from=build /app/src ./src
COPY --from=build /app/ops ./ops
COPY --from=build /app/viewer ./viewer
COPY --from=build /app/workspace ./workspace
COPY --from=build /app/openapi.yaml ./openapi.yaml
# /secrets: where the keys-init step of docker-compose.yml writes the keys (a named volume takes this ownership).
RUN mkdir -p /data /secrets && chown node:node /data /secrets
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "src/main.ts"]
