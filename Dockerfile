# syntax=docker/dockerfile:1
# Production image of the Intelagent server: built in one stage, run from a slim non-root stage with only
# production dependencies and the compiled output (no tsx, no sources, no dev tools at run time).
# Build: docker build -t intelagent .    Run: see docs/deploy.md and compose.yaml.

ARG NODE_VERSION=20.20
ARG PNPM_VERSION=12.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS base
ARG PNPM_VERSION
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH CI=true
RUN npm install -g "pnpm@${PNPM_VERSION}" && npm cache clean --force
WORKDIR /app

# Dependencies first, so a source change does not re-download them.
FROM base AS deps
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
COPY packages/server/package.json packages/server/
COPY packages/widget/package.json packages/widget/
COPY packages/dashboard/package.json packages/dashboard/
COPY packages/sdk/package.json packages/sdk/
COPY packages/react/package.json packages/react/
COPY examples/sdk-node/package.json examples/sdk-node/
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile

FROM deps AS build
COPY . .
RUN pnpm build
# Production dependencies of the server alone, in the same workspace layout the server expects.
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile --prod --filter @intelagent/server...

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json /app/pnpm-workspace.yaml ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/packages/server/package.json packages/server/
COPY --from=build --chown=node:node /app/packages/server/node_modules packages/server/node_modules
COPY --from=build --chown=node:node /app/packages/server/dist packages/server/dist
COPY --from=build --chown=node:node /app/packages/widget/dist packages/widget/dist
COPY --from=build --chown=node:node /app/packages/dashboard/dist packages/dashboard/dist
COPY --from=build --chown=node:node /app/examples/site examples/site
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "packages/server/dist/main.js"]
