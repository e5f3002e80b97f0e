/** Where an S3 server listens, in the parts the minio client takes. */
export interface S3Endpoint {
  /** Host name or address, without scheme or port. */
  endPoint: string;
  port: number;
  useSSL: boolean;
}

/** Splits an endpoint URL such as http://127.0.0.1:7480 into the client's parts. */
export function parseS3Endpoint(url: string): S3Endpoint {
  const parsed = new URL(url);
  const useSSL = parsed.protocol === 'https:';
  return { endPoint: parsed.hostname, port: parsed.port ? Number(parsed.port) : useSSL ? 443 : 80, useSSL };
}
