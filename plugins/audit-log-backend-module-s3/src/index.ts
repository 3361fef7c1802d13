/**
 * The `s3` audit log sink type: batches of records as gzip JSON-lines
 * objects in an S3 bucket or an OpenStack Swift container, spooled locally
 * and written with PutObject only.
 *
 * @packageDocumentation
 */
export { auditLogModuleS3 as default } from './module';
export { s3SinkType, s3SinkTypeServiceFactory } from './module';
export type { S3ArchiveConfig } from './config';
export { S3ArchiveTransport } from './S3ArchiveTransport';
export type { S3ArchiveTransportOptions } from './S3ArchiveTransport';
export type { RetryOptions } from './Uploader';
