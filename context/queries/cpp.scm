; Function names sit inside nested declarators; the index digs them out itself.
(function_definition declarator: (_)) @definition.function
(declaration declarator: (function_declarator)) @definition.function
(field_declaration declarator: (function_declarator)) @definition.method
(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(class_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.class
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(alias_declaration name: (type_identifier) @name) @definition.type
(namespace_definition name: (namespace_identifier) @name) @definition.namespace
(preproc_function_def name: (identifier) @name) @definition.macro
