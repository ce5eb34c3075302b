"""DynamoDB models (pynamodb). ``template.yaml`` declares the same tables; a test keeps them equal."""
