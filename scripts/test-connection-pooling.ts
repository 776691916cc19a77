/**
 * The seed's entry for the main job, kept so `npx tsx scripts/test-connection-pooling.ts` works as
 * documented. The demo itself lives in tools/demo/ (scripts/ holds npm lifecycle hooks and this).
 */
import '../tools/demo/test-connection-pooling.ts';
