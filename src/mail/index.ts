/** Entry point of the mail layer, loaded only when a job sends mail. */
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { OntimeError, ExitCode } from '../errors.js';
import type { Mailer } from './mailer.js';

export async function createMailer(_config: Config, _db: Knex): Promise<Mailer> {
  throw new OntimeError('the mail layer is not implemented yet', ExitCode.internal);
}
