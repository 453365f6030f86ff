import { z } from 'zod';
import {
  API_KEY_ROLES, EDGE_PAGE_NAMES, MAX_BRANDING_PAGES_BYTES, TENANT_KEY_ROLES, TENANT_STATES, type EdgePageName, type TenantBranding,
} from '../../core/states.js';

const httpUrl = z.string().max(2000).refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http(s) URL');
const colour = z.string().regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'must be a colour #rgb or #rrggbb');
const pageHtml = z.string();
const pageShape = Object.fromEntries(EDGE_PAGE_NAMES.map((name) => [name, pageHtml.optional()])) as Record<EdgePageName, z.ZodOptional<typeof pageHtml>>;

/**
 * A tenant's branding (`TenantBranding` in src/core/states.ts), checked before it is stored:
 * links are http(s) only (no `javascript:`), colours are hex, and the pages' HTML together is
 * at most {@link MAX_BRANDING_PAGES_BYTES} (it travels in every route of the tenant).
 */
export const TenantBrandingSchema = z.object({
  display_name: z.string().min(1).max(200).optional(),
  logo_url: httpUrl.optional(),
  primary_color: colour.optional(),
  background_color: colour.optional(),
  text_color: colour.optional(),
  support_url: httpUrl.optional(),
  pages: z.object(pageShape).strict()
    .refine((pages) => Object.values(pages).reduce((sum, html) => sum + Buffer.byteLength(html ?? ''), 0) <= MAX_BRANDING_PAGES_BYTES, `the pages together must be at most ${MAX_BRANDING_PAGES_BYTES} bytes`)
    .optional(),
}).strict().meta({ id: 'TenantBranding' }) satisfies z.ZodType<TenantBranding>;

export const TenantSchema = z.object({
  id: z.string(),
  slug: z.string(),
  display_name: z.string(),
  state: z.enum(TENANT_STATES),
  branding: TenantBrandingSchema,
  suspended_at: z.string().nullable(),
  created_at: z.string(),
}).meta({ id: 'Tenant' });

export const CreateTenantBody = z.object({
  slug: z.string().describe('DNS label without "--", at most 20 characters: apps are served at <app>--<slug>.<domain>'),
  display_name: z.string().min(1).max(200).optional(),
}).strict();

export const UpdateTenantBody = z.object({
  display_name: z.string().min(1).max(200).optional(),
  branding: TenantBrandingSchema.optional().describe('replaces the whole branding; {} makes the pages neutral again'),
}).strict();

export const TenantParams = z.object({ tenant: z.string().min(1).max(100) });

export const KeySchema = z.object({
  id: z.string(),
  tenant_id: z.string(),
  name: z.string(),
  role: z.enum(API_KEY_ROLES),
  project_id: z.string().nullable(),
  created_at: z.string(),
}).meta({ id: 'ApiKey' });

export const CreatedKeySchema = KeySchema.extend({ token: z.string().describe('shown in this answer only') }).meta({ id: 'CreatedApiKey' });

export const CreateKeyBody = z.object({
  name: z.string().min(1).max(200),
  role: z.enum(TENANT_KEY_ROLES),
  project_id: z.string().optional().describe('limit the key to one project'),
  tenant_id: z.string().optional().describe('operator only: make the key for another tenant'),
}).strict();

export const ProjectSchema = z.object({
  id: z.string(),
  name: z.string(),
  external_workspace_id: z.string().nullable(),
  created_at: z.string(),
}).meta({ id: 'Project' });

export const KeyParams = z.object({ key: z.string().min(1).max(100) });
