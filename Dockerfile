# ontime as a container image: `docker build -t ontime:0.1.0 .`
# The entrypoint is ontime itself (exec form, PID 1), so `docker stop` and a Kubernetes pod
# deletion deliver SIGTERM to ontime: it finishes its batch, records the run and exits 143.
# Node LTS on Debian slim; the same major in every stage, so the SQLite driver built in `deps`
# matches the runtime.
ARG NODE_IMAGE=node:24-slim

# --- build: compile the TypeScript (needs the dev dependencies) ---
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# better-sqlite3's install script builds its native part when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY scripts/build-bundle.mjs ./scripts/
# tsc's dist/, then the bundle bin/ontime starts from (dist/bundle/, esbuild from tsx's dependencies).
RUN npx tsc -p tsconfig.json && node scripts/build-bundle.mjs

# --- deps: production dependencies only, the SQLite driver built for this Node ---
FROM build AS deps
WORKDIR /deps
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` (a TypeScript build) needs dev tools; the one
# install script production needs is the SQLite driver's, run explicitly.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
    && npm rebuild better-sqlite3

# --- runtime ---
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /deps/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json README.md CHANGELOG.md LICENSE crontab.example .env.example ./
COPY bin ./bin
COPY docs ./docs
RUN ln -s /app/bin/ontime /usr/local/bin/ontime
# The node image's unprivileged user, by number: Kubernetes' runAsNonRoot can only verify a
# numeric user. Jobs run with /app as the working directory (a .env there is read; prefer
# environment variables or <NAME>_FILE secrets).
USER 1000:1000
ENTRYPOINT ["ontime"]
CMD ["--help"]
# Nagios-style: 0 every job on time and green, 1 late or partial, 2 failed or never ran.
HEALTHCHECK --interval=5m --timeout=60s --start-period=2m --retries=1 CMD ["ontime", "check"]
