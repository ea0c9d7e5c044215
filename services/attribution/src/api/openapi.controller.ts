import { Controller, Get } from '@nestjs/common';
import { attributionOpenApiDocument } from './openapi-document.js';

/** The API's OpenAPI document; public, like any API description. */
@Controller('v1/openapi.json')
export class OpenApiController {
  private readonly document = attributionOpenApiDocument();

  @Get()
  get(): object {
    return this.document;
  }
}
