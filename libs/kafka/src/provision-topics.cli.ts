// Creates the registry's topics on the configured cluster: used by
// scripts/kafka/start.sh, docker-compose and the Helm topics job.
import { commonVariables, loadConfig } from '@calltrack/config';
import { createLogger } from '@calltrack/telemetry';
import { z } from 'zod';
import { createKafka, kafkaSettingsFromConfig } from './kafka-client.js';
import { provisionTopics } from './topic-admin.js';

const schema = z.object({
  ...commonVariables,
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).default(1).meta({ description: 'Replication factor of created topics.' }),
});
const config = loadConfig('provision-topics', schema);
const logger = createLogger('provision-topics', config.LOG_LEVEL);
const kafka = createKafka(kafkaSettingsFromConfig('provision-topics', config), logger);
const result = await provisionTopics(kafka, config.KAFKA_TOPIC_PREFIX, logger, config.KAFKA_REPLICATION_FACTOR);
process.stdout.write(`topics: ${result.created.length} created, ${result.existing.length} already present\n`);
