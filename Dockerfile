# syntax=docker/dockerfile:1
# Folio's image: build the bundle with every dependency, then run it on slim Node 20 with the
# production dependencies only. How to use it: docs/deploying.md. Checked by `npm run lint:docker`.

# The full image has python3, make and g++, which better-sqlite3 needs to compile itself when no
# prebuilt binary matches the platform.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
# dist/server/folio.js and its stylesheet. The packages the bundle leaves outside (native add-ons,
# Swagger UI's files, the database drivers) are loaded from node_modules at run time, so keep it,
# without the development packages.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Same Debian release as the build stage, so the compiled add-ons find the same glibc.
FROM node:20-bookworm-slim
WORKDIR /app
ENV FOLIO_ENV=production \
    FOLIO_HOST=0.0.0.0 \
    FOLIO_PORT=8080 \
    FOLIO_DATABASE_URL=sqlite:/data/folio.db
# The code stays owned by root, read-only to the server; /data is the only place it writes. The
# directory is made before VOLUME so that a new named volume starts with its owner.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
# No curl in slim images: Node's own fetch. /api/status also checks the database.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FOLIO_PORT||8080)+'/api/status').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself; `folio serve` handles it by closing the
# server and the database, then exits.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server/folio.js", "serve"]
