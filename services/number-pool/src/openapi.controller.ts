import { Controller, Get } from '@nestjs/common';
import { adminOpenApiDocument } from './openapi-document.js';

/** The admin API's OpenAPI document; public, like any API description. */
@Controller('v1/admin/openapi.json')
export class OpenApiController {
  private readonly document = adminOpenApiDocument();

  @Get()
  get(): object {
    return this.document;
  }
}
