import { index, type RouteConfig, route } from '@react-router/dev/routes';

export default [
  index('routes/workspace.tsx'),
  route('login', 'routes/login.ts'),
  route('status', 'routes/status.ts'),
  route('api/health', 'routes/api.health.ts'),
  route('api/metrics', 'routes/api.metrics.ts'),
] satisfies RouteConfig;
