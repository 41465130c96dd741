// The wire format of container images (`stint image import|list|rm`), shared by the server
// (validation, OpenAPI) and the CLI. Times are ISO 8601 strings; sizes are bytes. Names are
// checked by the server's own rule (src/containers/image-names.ts), which answers with the field,
// the value and what is accepted; here they are only bounded strings.

import { z } from 'zod';

export const ImageViewSchema = z.object({
  name: z.string().describe('the stint name with its tag; tasks run it as stint:<name>'),
  owner: z.string().describe('who imported it: only they or an admin may replace or remove it'),
  imageId: z.string(),
  digest: z.string().describe('the manifest digest that runs'),
  sizeBytes: z.number(),
  source: z.enum(['rootfs', 'docker-archive', 'oci-archive']),
  createdAt: z.string(),
  present: z.boolean().describe('false: podman\'s storage no longer has it (removed outside stint)'),
});
export type ImageView = z.infer<typeof ImageViewSchema>;

export const ImageListSchema = z.object({ images: z.array(ImageViewSchema) });

export const ImageImportQuerySchema = z.object({
  name: z.string().max(256).optional().describe('the name to give the image (else the archive\'s own tag, else the file name)'),
  fileName: z.string().max(256).optional().describe('the uploaded file\'s base name'),
});

export const ImageNameQuerySchema = z.object({ name: z.string().min(1).max(256) });
