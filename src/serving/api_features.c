/* api_features.c -- endpoints of the features layer (recommendations, segments, ...). */
#include "serving/http_int.h"

const c360_route c360_routes_features[] = {
    {0},
};
