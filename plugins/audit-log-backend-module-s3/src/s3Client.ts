import { S3Client } from '@aws-sdk/client-s3';

/** Where a client connects and as whom. */
export interface S3ClientSettings {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * An S3 client that works with AWS S3 and the S3 APIs of Swift, Ceph RGW and
 * MinIO: checksums only where an operation requires them (Swift's s3api
 * answers 501 to the SDK's default aws-chunked checksums on streams), and
 * no SDK retries (the uploader retries, with the same key and bytes).
 */
export function createS3Client(settings: S3ClientSettings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
